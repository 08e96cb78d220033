/*
 * pbcext: the smallest C extension module, compiled inside pyston-build's
 * full docker image (docker:check:full-*) to show that the image can build
 * extension modules against the interpreter it ships: its headers, its
 * compiler settings from sysconfig, and pip with setuptools, offline.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
add(PyObject *self, PyObject *args)
{
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b))
        return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, "Return a + b."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pbcext", "pyston-build's image check extension.", -1, methods,
};

PyMODINIT_FUNC
PyInit_pbcext(void)
{
    return PyModule_Create(&module);
}
