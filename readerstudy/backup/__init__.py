"""Backup and restore of one study: its rows, its de-identified DICOM and its models' files in
one archive with a checksum manifest; the de-identification key in a file of its own."""
