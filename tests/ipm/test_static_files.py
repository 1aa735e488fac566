"""Static files are sent compressed: WhiteNoise's compressor (what collectstatic runs with
production's CompressedManifestStaticFilesStorage) writes a Brotli copy now that
whitenoise[brotli] is installed, and WhiteNoise sends it to a browser that accepts it."""

import shutil

import pytest
from django.conf import settings
from django.test import Client
from whitenoise.compress import Compressor

pytestmark = pytest.mark.django_db


@pytest.fixture
def static_root(tmp_path, settings):
    (tmp_path / "outcomes").mkdir()
    css = tmp_path / "outcomes" / "patient.css"
    shutil.copy(settings.BASE_DIR / "static" / "outcomes" / "patient.css", css)
    written = list(Compressor(quiet=True).compress(str(css)))
    settings.STATIC_ROOT = tmp_path
    settings.WHITENOISE_USE_FINDERS = False
    return tmp_path, written


def test_the_compressor_writes_a_brotli_copy(static_root):
    root, written = static_root
    assert str(root / "outcomes" / "patient.css.br") in written
    assert (root / "outcomes" / "patient.css.br").stat().st_size < (
        root / "outcomes" / "patient.css").stat().st_size / 2


def test_whitenoise_sends_the_brotli_copy(static_root):
    r = Client().get("/static/outcomes/patient.css", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert r.status_code == 200 and r["Content-Encoding"] == "br"
    root, _ = static_root
    assert len(b"".join(r.streaming_content)) == (root / "outcomes" / "patient.css.br").stat().st_size


def test_production_keeps_compressed_hashed_static_files():
    text = (settings.BASE_DIR / "ipm" / "settings" / "production.py").read_text()
    assert "whitenoise.storage.CompressedManifestStaticFilesStorage" in text
