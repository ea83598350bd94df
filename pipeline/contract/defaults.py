"""Default forbidden tool classes: what a runtime image must not carry.

Each class lists path globs (matched against image paths without the leading
"/"; `*` stays within one path component, `**` crosses them) and package-name
globs (matched against dpkg, apk, Python dist-info and node_modules names).
A contract relaxes whole classes, extends them, or allows exact paths.
The classes follow the seed contract: compilers/build toolchains, package
managers not needed at run time, test frameworks, linters, VCS/CI tools.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

_BIN = ("bin", "usr/bin", "usr/local/bin", "sbin", "usr/sbin")


def _bins(*names: str) -> tuple[str, ...]:
    return tuple(f"{d}/{n}" for n in names for d in _BIN)


DEFAULT_TOOL_CLASSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "compilers": {
        "paths": _bins("gcc", "gcc-*", "g++", "g++-*", "cc", "c++", "clang", "clang-*",
                       "clang++", "rustc", "cargo", "javac", "go", "make", "cmake", "ld", "as",
                       "x86_64-linux-gnu-gcc*", "aarch64-linux-gnu-gcc*")
                 + ("usr/local/go/bin/go",),
        # Versioned compiler packages (gcc-12), not Debian's essential runtime
        # gcc-12-base / libgcc-s1 that every Debian image ships.
        "packages": ("gcc", "gcc-[0-9]", "gcc-[0-9][0-9]", "g++", "g++-[0-9]", "g++-[0-9][0-9]",
                     "cpp", "cpp-[0-9]", "cpp-[0-9][0-9]", "clang", "clang-[0-9]",
                     "clang-[0-9][0-9]", "build-essential", "build-base", "make", "cmake",
                     "binutils", "libc6-dev", "musl-dev", "rustc", "cargo", "golang", "golang-*",
                     "openjdk-*-jdk*", "cython", "Cython"),
    },
    "package-managers": {
        "paths": _bins("apt", "apt-get", "aptitude", "dpkg", "apk", "pip", "pip3", "pip3.*",
                       "pipx", "poetry", "pdm", "uv", "npm", "npx", "yarn", "pnpm", "corepack",
                       "gem", "composer", "yum", "dnf", "microdnf", "rpm"),
        "packages": ("apt", "aptitude", "apk-tools", "pip", "pipx", "poetry", "pdm", "uv",
                     "npm", "yarn", "pnpm", "corepack", "python3-pip", "yum", "dnf"),
    },
    "test-frameworks": {
        "paths": _bins("pytest", "py.test", "tox", "nox", "jest", "mocha", "vitest",
                       "playwright", "cypress", "karma"),
        "packages": ("pytest", "pytest-*", "tox", "nox", "hypothesis", "coverage", "jest",
                     "mocha", "vitest", "@playwright/test", "playwright", "cypress", "karma",
                     "@vue/test-utils", "@testing-library/*", "python3-pytest"),
    },
    "linters": {
        "paths": _bins("ruff", "flake8", "pylint", "mypy", "black", "isort", "eslint",
                       "prettier", "stylelint", "shellcheck", "hadolint"),
        "packages": ("ruff", "flake8", "pylint", "mypy", "black", "isort", "eslint",
                     "eslint-*", "@eslint/*", "prettier", "stylelint", "shellcheck",
                     "typescript-eslint", "@typescript-eslint/*"),
    },
    "vcs-ci": {
        "paths": _bins("git", "git-*", "svn", "hg", "gh", "glab", "act", "dagger",
                       "gitlab-runner", "jenkins", "docker", "buildah", "podman", "kubectl"),
        "packages": ("git", "git-man", "subversion", "mercurial", "gh", "docker-ce*",
                     "docker.io", "buildah", "podman", "kubectl", "dagger-io"),
    },
})


def effective_classes(forbidden: Any, make: Callable[..., T]) -> dict[str, T]:
    """A `[forbidden]` table's effective classes: defaults minus `relax`, plus `extend`;
    each made by `make(paths=..., packages=...)` (the models' or the plain reading's)."""
    merged: dict[str, T] = {}
    paths: dict[str, list[str]] = {}
    packages: dict[str, list[str]] = {}
    for name, spec in DEFAULT_TOOL_CLASSES.items():
        if name not in forbidden.relax:
            paths[name], packages[name] = list(spec["paths"]), list(spec["packages"])
    for name, extra in forbidden.extend.items():
        if name in forbidden.relax:
            continue
        paths[name] = paths.get(name, []) + extra.paths
        packages[name] = packages.get(name, []) + extra.packages
    for name in paths:
        merged[name] = make(paths=paths[name], packages=packages[name])
    return merged
