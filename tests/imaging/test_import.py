"""Importing cases: synthetic CT and MRI series, phantoms, and real files of every transfer
syntax shipped by pydicom-data."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from pydicom import dcmread

from readerstudy.core.models import AuditEvent
from readerstudy.imaging import selectors
from readerstudy.imaging.deidentify import patient_pseudonym
from readerstudy.imaging.importer import import_study
from readerstudy.imaging.models import DeidentificationKey, Instance, Series, VertebraLocation
from readerstudy.imaging.validation import ImportRefused
from readerstudy.studies.models import Case
from tests.imaging.factory import ct_case, mr_case, volume, write_manifest

pytestmark = pytest.mark.django_db


def test_ct_import_creates_case_reference_location_and_a_derived_sagittal(ct_study, dicom_root, tmp_path):
    row = ct_case(dicom_root)
    manifest = write_manifest(tmp_path / "manifest.csv", [row]).read_text()

    result = import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root)

    case = Case.objects.get(study=ct_study)
    assert result.case_codes == [case.code]
    assert case.source_case_id == "case-1"
    assert case.reference.label == "malignant" and case.reference.source == "histopathology"
    assert case.patient_pseudonym == patient_pseudonym(DeidentificationKey.objects.get(study=ct_study).secret, "MRN-0001")
    assert "MRN" not in case.patient_pseudonym
    assert VertebraLocation.objects.get(case=case).center == pytest.approx(
        (float(row["center_x"]), float(row["center_y"]), float(row["center_z"])))
    axial = Series.objects.get(case=case, role="axial")
    sagittal = Series.objects.get(case=case, role="sagittal")
    assert (axial.number_of_instances, axial.rows, axial.columns, axial.derived) == (20, 64, 64, False)
    assert sagittal.derived and sagittal.number_of_instances == 64
    assert sagittal.study_uid == axial.study_uid and sagittal.series_uid != axial.series_uid
    assert [s["role"] for s in selectors.viewer_series_for_case(case=case)] == ["axial", "sagittal"]
    assert AuditEvent.objects.filter(verb="imported", study_slug=ct_study.slug).count() == 1


def test_the_axial_instances_are_stored_in_order_along_the_normal_with_their_pixels(ct_study, dicom_root, tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [ct_case(dicom_root)]).read_text()
    import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root)
    names = selectors.case_series_files(Case.objects.get())["axial"]
    stored = []
    for name in names:
        with selectors.open_instance(name) as handle:
            stored.append(dcmread(handle).pixel_array)
    np.testing.assert_array_equal(np.stack(stored), volume())


def test_the_derived_sagittal_is_the_axial_volume_resampled(ct_study, dicom_root, tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [ct_case(dicom_root)]).read_text()
    import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root)
    sagittal = Series.objects.get(role="sagittal")
    instance = sagittal.instances.get(instance_number=33)  # axial column 32
    with selectors.open_instance(instance.storage_name) as handle:
        ds = dcmread(handle)
    hu = volume().astype(float) - 1024  # the factory's rescale
    # Rows run from the top (last axial slice) down at 1 mm; 2.5 mm slices -> every 2.5th row.
    assert ds.Rows == 48 and ds.Columns == 64
    np.testing.assert_array_equal(ds.pixel_array[0], hu[-1, :, 32])
    np.testing.assert_array_equal(ds.pixel_array[5], hu[-3, :, 32])
    assert [float(v) for v in ds.ImageOrientationPatient] == [0, 1, 0, 0, 0, -1]
    assert [float(v) for v in ds.PixelSpacing] == [1.0, 1.0]
    assert "DERIVED" in ds.ImageType


def test_mri_import_stores_t1w_and_t2w_and_no_derived_series(mr_study, dicom_root, tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [mr_case(dicom_root)]).read_text()
    import_study(study=mr_study, manifest_text=manifest, dicom_root=dicom_root)
    case = Case.objects.get()
    assert [s["role"] for s in selectors.viewer_series_for_case(case=case)] == ["t1w", "t2w"]
    assert case.field_strength == 1.5
    assert not Series.objects.filter(derived=True).exists()


def test_bbox_columns_give_the_centre_when_it_is_left_out(ct_study, dicom_root, tmp_path):
    row = ct_case(dicom_root)
    x, y, z = (float(row[k]) for k in ("center_x", "center_y", "center_z"))
    row.update(center_x="", center_y="", center_z="", bbox_min_x=x - 10, bbox_min_y=y - 8, bbox_min_z=z - 6,
               bbox_max_x=x + 10, bbox_max_y=y + 8, bbox_max_z=z + 6)
    extra = ("bbox_min_x", "bbox_min_y", "bbox_min_z", "bbox_max_x", "bbox_max_y", "bbox_max_z")
    manifest = write_manifest(tmp_path / "m.csv", [row], extra).read_text()
    import_study(study=ct_study, manifest_text=manifest, dicom_root=dicom_root)
    location = VertebraLocation.objects.get()
    assert location.center == pytest.approx((x, y, z))
    assert location.bbox == ((x - 10, y - 8, z - 6), (x + 10, y + 8, z + 6))


def test_a_later_manifest_keeps_pseudonyms_and_patient_level_splits(ct_study, dicom_root, tmp_path):
    def manifest(name, folder, case_id, test_set):
        row = ct_case(dicom_root, folder, case_id=case_id, patient_id="MRN-9") | {"test_set": test_set}
        return write_manifest(tmp_path / name, [row]).read_text()

    import_study(study=ct_study, manifest_text=manifest("1.csv", "a/ct", "c1", "training"), dicom_root=dicom_root)
    import_study(study=ct_study, manifest_text=manifest("2.csv", "b/ct", "c2", "training"), dicom_root=dicom_root)
    first, second = Case.objects.filter(study=ct_study).order_by("source_case_id")
    assert first.patient_pseudonym == second.patient_pseudonym

    with pytest.raises(ImportRefused, match="splits are made at patient level"):
        import_study(study=ct_study, manifest_text=manifest("3.csv", "c/ct", "c3", "internal"), dicom_root=dicom_root)
    assert Case.objects.filter(study=ct_study).count() == 2


def test_the_management_command_imports_a_manifest(ct_study, dicom_root, tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [ct_case(dicom_root)])
    out = io.StringIO()
    call_command("import_study", str(manifest), "--dicom-root", str(dicom_root), "--study", "ct-study", stdout=out)
    assert "Imported 1 case(s), 2 series, 84 instance(s)" in out.getvalue()
    assert Instance.objects.count() == 84


@pytest.mark.slow
def test_phantom_datasets_of_both_modalities_import(ct_study, mr_study, tmp_path):
    from fixtures.phantoms import build_dataset

    for modality, study in (("CT", ct_study), ("MR", mr_study)):
        root = tmp_path / modality
        manifest = build_dataset(root, n_cases=2, seed=3, modalities=[modality], test_sets=["internal"],
                                 ct_kwargs={"shape": (20, 64, 64)}, mr_kwargs={"shape": (64, 64)},
                                 compressed_share=0.5)
        result = import_study(study=study, manifest_text=manifest.read_text(), dicom_root=root)
        assert len(result.case_codes) == 2
    assert Series.objects.filter(case__study=ct_study, role="sagittal").count() == 2
    assert set(Series.objects.filter(case__study=mr_study).values_list("role", flat=True)) == {"t1w", "t2w"}
