# Built by `pip install --no-index --no-build-isolation` inside the full
# image (no network): setuptools comes with the interpreter's ensurepip.
from setuptools import Extension, setup

setup(name="pbcext", version="1.0", ext_modules=[Extension("pbcext", ["cext.c"])])
