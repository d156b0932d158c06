# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 1000 app
COPY . .
RUN pip install --no-cache-dir -c requirements/constraints.txt . \
 && DEBUG=true python manage.py collectstatic --noinput
USER app
EXPOSE 8000
# Bind, workers and the redacting access log: brickinvoice/gunicorn_conf.py.
CMD ["gunicorn", "-c", "brickinvoice/gunicorn_conf.py", "brickinvoice.wsgi:application"]
