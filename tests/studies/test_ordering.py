"""Reading orders and the repeat sample are random per reader and reproducible."""

from readerstudy.studies.ordering import reading_order, repeat_sample

CODES = [f"C{i:03d}" for i in range(40)]


def test_the_same_seed_reader_and_round_give_the_same_order_whatever_the_input_order():
    a = reading_order(seed=7, reader="ann", round="first", case_codes=CODES)
    b = reading_order(seed=7, reader="ann", round="first", case_codes=list(reversed(CODES)))
    assert a == b and sorted(a) == CODES


def test_readers_rounds_and_seeds_each_draw_their_own_order():
    base = reading_order(seed=7, reader="ann", round="first", case_codes=CODES)
    assert base != reading_order(seed=7, reader="bob", round="first", case_codes=CODES)
    assert base != reading_order(seed=7, reader="ann", round="repeat", case_codes=CODES)
    assert base != reading_order(seed=8, reader="ann", round="first", case_codes=CODES)


def test_the_repeat_sample_is_shared_by_default_and_per_reader_on_request():
    patients = [f"P{i}" for i in range(50)]
    shared = repeat_sample(seed=3, patients=patients, size=20)
    assert len(shared) == 20 and set(shared) <= set(patients)
    assert shared == repeat_sample(seed=3, patients=list(reversed(patients)), size=20)
    assert repeat_sample(seed=3, patients=patients, size=20, reader="ann") != repeat_sample(
        seed=3, patients=patients, size=20, reader="bob")


def test_a_sample_larger_than_the_study_takes_every_patient():
    assert repeat_sample(seed=1, patients=["a", "b"], size=20) == ["a", "b"]
