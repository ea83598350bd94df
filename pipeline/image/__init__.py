"""Reading OCI images from tarballs: archive formats, layers, whiteouts, the image view."""

from pipeline.image.model import FileEntry, HistoryEntry, ImageConfig, Kind, Layer
from pipeline.image.view import ImageView, TarballImage, read_tarball

__all__ = ["FileEntry", "HistoryEntry", "ImageConfig", "ImageView", "Kind", "Layer",
           "TarballImage", "read_tarball"]
