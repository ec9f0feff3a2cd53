"""The demo's finished reader study: simulated readers and their generated reads.

- :mod:`readerstudy.demo.simulate`: pure and seeded; draws each simulated reader's answers
  (calls from published sensitivities and specificities, confidence, three-tier calls,
  measurements, the MRI feature checklist) and reading times.
- :mod:`readerstudy.demo.phantom_facts`: what the synthetic phantoms of the demo dataset
  truly show (difficulty, MRI features, vertebral measurements), for the simulation.
- :mod:`readerstudy.demo.services`: makes the simulated reads through the studies services
  (``case_open`` / ``read_submit``), so every rule of real reads holds for them.

Simulated readers are users flagged ``ReaderProfile.simulated``, named ``sim-...``, without
a usable password; their reads are labelled simulated wherever they show.
"""
