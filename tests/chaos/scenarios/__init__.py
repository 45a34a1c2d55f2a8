"""The scenarios of the reliability matrix, one module each (see ``tests/chaos/matrix.py``)."""
