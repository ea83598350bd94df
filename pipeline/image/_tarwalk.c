/* _tarwalk: the common case of pipeline.image.tarstream's header walk, in C.
 *
 * walk(buf, start, base, size_limit, member_type) reads consecutive tar headers from
 * buf[start:], as TarStream.__iter__ would, while each one is a plain ustar header
 * (octal numbers only, a good checksum, no pax or GNU extension) whose successor
 * header lies in buf too. It returns (members, position): a list of member_type tuples
 * (name, type, mode, uid, gid, size, linkname, offset), stream offsets counted from
 * `base` (buf[0]'s offset in the stream), and the stream position of the first header
 * it did not take. Anything else (an extension header, a zero block, a number Python
 * reads differently, a bad checksum, a member past size_limit) stops it without a
 * word, and the Python walk takes that header: results are the same either way, and
 * every error is still said by Python. Only bytes inside buf are ever read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 512
#define ADLER_MOD 65521

/* An octal field as Python's int(field.rstrip(b"\0"), 8) reads it, in its plain form:
 * trailing NULs, then spaces around 1-12 octal digits. Anything else: -1 (Python
 * decides: base-256, underscores, signs or junk). */
static int64_t octal(const unsigned char *field, Py_ssize_t width, int strip_nul_spaces)
{
    Py_ssize_t end = width, i = 0;
    while (end > 0 && (field[end - 1] == 0 || (strip_nul_spaces && field[end - 1] == ' ')))
        end--;
    while (end > 0 && field[end - 1] == ' ')
        end--;
    while (i < end && (field[i] == ' ' || (strip_nul_spaces && field[i] == 0)))
        i++;
    if (i == end || end - i > 12)
        return -1;
    int64_t value = 0;
    for (; i < end; i++) {
        if (field[i] < '0' || field[i] > '7')
            return -1;
        value = value * 8 + (field[i] - '0');
    }
    return value;
}

/* The text of a NUL-terminated field, as tarstream._text decodes it. */
static PyObject *text(const unsigned char *field, Py_ssize_t width)
{
    const unsigned char *nul = memchr(field, 0, (size_t)width);
    Py_ssize_t n = nul ? (Py_ssize_t)(nul - field) : width;
    return PyUnicode_DecodeUTF8((const char *)field, n, "surrogateescape");
}

static int is_file_type(unsigned char kind)
{
    return kind == '0' || kind == 0 || kind == '7';
}

/* One plain header at h (BLOCK bytes): its member tuple, NULL with no error set when
 * Python must take it, NULL with an error set on a failure of Python itself. */
static PyObject *member(const unsigned char *h, long long data_offset, long long size_limit,
                        PyTypeObject *member_type, long long *size_out)
{
    unsigned char kind = h[156];
    if (kind == 'x' || kind == 'g' || kind == 'L' || kind == 'K' || kind == 'S')
        return NULL;
    /* The checksum: the field stripped of spaces and NULs, and the unsigned byte sum
     * with the field read as eight spaces (Python compares modulo 65521; equal here). */
    int64_t stored = octal(h + 148, 8, 1);
    if (stored < 0)
        return NULL;
    uint32_t sum = 8 * ' ';
    for (int i = 0; i < BLOCK; i++)
        if (i < 148 || i >= 156)
            sum += h[i];
    if ((int64_t)sum != stored)
        return NULL;
    int64_t size = octal(h + 124, 12, 0);
    int64_t mode = octal(h + 100, 8, 0);
    int64_t uid = octal(h + 108, 8, 0);
    int64_t gid = octal(h + 116, 8, 0);
    if (size < 0 || mode < 0 || uid < 0 || gid < 0)
        return NULL;
    if (size_limit >= 0 && data_offset + size > size_limit)
        return NULL;             /* runs past the stream: Python says so */

    PyObject *name = text(h, 100);
    if (name == NULL)
        return NULL;
    if (memcmp(h + 257, "ustar\0" "00", 8) == 0 && h[345] != 0) {
        PyObject *prefix = text(h + 345, 155);
        if (prefix == NULL) {
            Py_DECREF(name);
            return NULL;
        }
        PyObject *joined = PyUnicode_FromFormat("%U/%U", prefix, name);
        Py_DECREF(prefix);
        Py_DECREF(name);
        if (joined == NULL)
            return NULL;
        name = joined;
    }
    if (kind == '5') {
        /* name.rstrip("/") or name */
        Py_ssize_t n = PyUnicode_GET_LENGTH(name);
        while (n > 0 && PyUnicode_READ_CHAR(name, n - 1) == '/')
            n--;
        if (n > 0 && n < PyUnicode_GET_LENGTH(name)) {
            PyObject *cut = PyUnicode_Substring(name, 0, n);
            Py_DECREF(name);
            if (cut == NULL)
                return NULL;
            name = cut;
        }
    }
    PyObject *link = h[157] ? text(h + 157, 100) : PyUnicode_FromStringAndSize("", 0);
    if (link == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *plain = PyTuple_New(8);
    if (plain == NULL) {
        Py_DECREF(name);
        Py_DECREF(link);
        return NULL;
    }
    char type_byte = (char)kind;
    PyObject *values[8] = {
        name,
        PyBytes_FromStringAndSize(&type_byte, 1),
        PyLong_FromLongLong(mode & 07777),
        PyLong_FromLongLong(uid),
        PyLong_FromLongLong(gid),
        PyLong_FromLongLong(is_file_type(kind) ? size : 0),
        link,
        PyLong_FromLongLong(data_offset),
    };
    int failed = 0;
    for (int i = 0; i < 8; i++) {
        if (values[i] == NULL)
            failed = 1;
        PyTuple_SET_ITEM(plain, i, values[i]);  /* a NULL item is fine for the DECREF below */
    }
    if (failed) {
        Py_DECREF(plain);
        return NULL;
    }
    /* The member type made from it as tuple.__new__(member_type, plain) makes it, whatever
     * a tuple holds besides its items in this version of Python (a cached hash, say). */
    PyObject *args = PyTuple_Pack(1, plain);
    Py_DECREF(plain);
    if (args == NULL)
        return NULL;
    PyObject *item = PyTuple_Type.tp_new(member_type, args, NULL);
    Py_DECREF(args);
    if (item == NULL)
        return NULL;
    *size_out = size;
    return item;
}

static PyObject *walk(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer view;
    Py_ssize_t start;
    long long base, size_limit;
    PyTypeObject *member_type;
    if (!PyArg_ParseTuple(args, "y*nLLO!", &view, &start, &base, &size_limit,
                          &PyType_Type, &member_type))
        return NULL;
    if (!PyType_IsSubtype(member_type, &PyTuple_Type)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "member_type must be a tuple type");
        return NULL;
    }
    PyObject *members = PyList_New(0);
    if (members == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t length = view.len, at = start < 0 ? length : start;
    while (at <= length - BLOCK) {
        long long size = 0;
        PyObject *item = member(buf + at, base + at + BLOCK, size_limit, member_type, &size);
        if (item == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(members);
                PyBuffer_Release(&view);
                return NULL;
            }
            break;
        }
        /* The next header must lie in buf: a member whose data runs past it is the
         * last one taken, and the Python walk goes on from there. Kept wide: on a
         * 32-bit build a cut position would show members the Python walk never reaches. */
        long long next = (long long)at + BLOCK + (size + BLOCK - 1) / BLOCK * BLOCK;
        int append = PyList_Append(members, item);
        Py_DECREF(item);
        if (append < 0) {
            Py_DECREF(members);
            PyBuffer_Release(&view);
            return NULL;
        }
        if (next > (long long)length - BLOCK) {
            PyBuffer_Release(&view);
            return Py_BuildValue("(NL)", members, base + next);
        }
        at = (Py_ssize_t)next;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NL)", members, base + (long long)at);
}

static PyMethodDef methods[] = {
    {"walk", walk, METH_VARARGS,
     "walk(buf, start, base, size_limit, member_type) -> (members, position)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tarwalk", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

#ifndef SOURCE_SHA256
#define SOURCE_SHA256 ""
#endif

PyMODINIT_FUNC PyInit__tarwalk(void)
{
    PyObject *m = PyModule_Create(&module);
    /* The sha256 of the source it was built from (hatch_build.py): tarstream uses it only
     * if it is the source beside it, never a stale build. */
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_SHA256", SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
