"""Top-tagging data: readers for the public layouts, writers, the event generator, the embedded sample."""

from pathlib import Path

from clariant_core.data.readers import Batch, DataFormatError, JetFile, load
from clariant_core.data.writers import write_h5py_layout, write_public_layout

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"

__all__ = ["SAMPLE_DIR", "Batch", "DataFormatError", "JetFile", "load", "write_h5py_layout", "write_public_layout"]
