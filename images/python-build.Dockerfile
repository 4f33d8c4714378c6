# The build stage's base of the service images: the local Python base plus the TLS CA
# bundle that pip needs behind this machine's TLS-intercepting proxy. Only the `build`
# stage of services/Dockerfile starts from it (images/build-services.sh): the final
# stage starts from the plain base, so no image that runs carries this CA.
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
COPY build-ca-bundle.pem /usr/local/share/build-ca-bundle.pem
ENV PIP_CERT=/usr/local/share/build-ca-bundle.pem \
    SSL_CERT_FILE=/usr/local/share/build-ca-bundle.pem \
    REQUESTS_CA_BUNDLE=/usr/local/share/build-ca-bundle.pem
