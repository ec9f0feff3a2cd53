# Study.ai_feedback becomes Study.mode (blinded / second-read assisted / teaching), issue #14.

from django.db import migrations, models


def teaching_from_ai_feedback(apps, schema_editor):
    """A study with AI feedback was a teaching study; every other one is blinded."""
    Study = apps.get_model("studies", "Study")
    Study.objects.filter(ai_feedback=True).update(mode="teaching")


def ai_feedback_from_teaching(apps, schema_editor):
    Study = apps.get_model("studies", "Study")
    Study.objects.filter(mode="teaching").update(ai_feedback=True)


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0002_read_answers_round_choices'),
    ]

    operations = [
        migrations.AddField(
            model_name='study',
            name='mode',
            field=models.CharField(choices=[('blinded', 'blinded'), ('assisted', 'second-read assisted'), ('teaching', 'teaching')], default='blinded', help_text="blinded: No model output or reference standard ever reaches a reader. second-read assisted: Each reader locks an unaided read; then the model's probability, three-tier call and saliency are shown and the reader records an AI-aided read (its own round). teaching: After each locked read a trainee (resident or trainee) sees the model's output and saliency, the reference standard with its source and an expert's features beside theirs.", max_length=10),
        ),
        migrations.RunPython(teaching_from_ai_feedback, ai_feedback_from_teaching),
        migrations.RemoveField(
            model_name='study',
            name='ai_feedback',
        ),
    ]
