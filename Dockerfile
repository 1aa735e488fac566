FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=ipm.settings.production
WORKDIR /app
# WeasyPrint (PDF letters) needs Pango and HarfBuzz, and fonts: Debian's DejaVu.
RUN apt-get update && apt-get install -y --no-install-recommends curl libpango-1.0-0 \
    libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir . \
    && SECRET_KEY=build AUDIT_HMAC_KEY=build-only-not-a-real-audit-key-0123456789 \
       ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput
RUN useradd --create-home ipm && mkdir -p /app/var/audit && chown -R ipm /app/var
USER ipm
EXPOSE 8000
CMD ["gunicorn", "ipm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
