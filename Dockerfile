# buildmock: every vendor mock on port 8080.
#   docker build -t buildmock . && docker run --rm -p 8080:8080 buildmock
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY specs ./specs
COPY fixtures ./fixtures
RUN pip install . && useradd --create-home --uid 10001 buildmock
USER buildmock
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/__buildmock/health')"
ENTRYPOINT ["buildmock"]
CMD ["serve", "--host", "0.0.0.0"]
