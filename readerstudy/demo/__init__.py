"""The demo (``manage.py demo``): phantom studies, a phantom-trained model, and a finished
reader study of simulated readers and their generated reads.

The one app that imports every other: it builds its studies through their services.

- :mod:`readerstudy.demo.simulate`: pure and seeded; draws each simulated reader's answers
  (calls from published sensitivities and specificities, confidence, three-tier calls,
  measurements, the MRI feature checklist) and reading times.
- :mod:`readerstudy.demo.phantom_facts`: what the synthetic phantoms of the demo dataset
  truly show (difficulty, MRI features, vertebral measurements), for the simulation.
- :mod:`readerstudy.demo.services`: makes the simulated reads through the studies services
  (``case_open`` / ``read_submit``), so every rule of real reads holds for them.
- :mod:`readerstudy.demo.phantom_model`: the demo's small models, trained on the phantoms.
- ``management/commands/demo.py``: the command that builds it all, idempotently.

Simulated readers are users flagged ``ReaderProfile.simulated``, named ``sim-...``, without
a usable password; their reads are labelled simulated wherever they show.
"""
