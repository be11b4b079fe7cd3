"""The course tooling: the manifest, the notebooks, their editions and record, the website and the test plugin.

Nothing here imports torch at import time (tests/test_package_map.py proves it), so `course list`, `course book`
and the pytest plugin start without the library's weight; what a tool needs from the library it imports inside
the function that needs it.
"""
