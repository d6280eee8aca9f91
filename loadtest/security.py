"""Client security options (SASL PLAIN/SCRAM, TLS) checked once and mapped to librdkafka settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iocsim.loadtest.errors import ProfileError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class SecuritySettings:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = None
    ssl_verify_hostname: bool = True

    def check(self) -> SecuritySettings:
        if self.protocol not in PROTOCOLS:
            raise ProfileError("--security-protocol", f"{self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        uses_sasl = self.protocol.startswith("SASL_")
        uses_tls = self.protocol in ("SSL", "SASL_SSL")
        if uses_sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise ProfileError("--sasl-mechanism", f"{self.sasl_mechanism!r} is not one of {', '.join(MECHANISMS)}")
            if not self.sasl_username:
                raise ProfileError("--sasl-username", f"required with --security-protocol {self.protocol}")
            if self.sasl_password is None:
                raise ProfileError("--sasl-password", f"required with --security-protocol {self.protocol}")
        else:
            for flag, value in (("--sasl-mechanism", self.sasl_mechanism), ("--sasl-username", self.sasl_username)):
                if value is not None:
                    raise ProfileError(
                        flag, f"needs --security-protocol SASL_PLAINTEXT or SASL_SSL, not {self.protocol}"
                    )
        files = (
            ("--ssl-cafile", self.ssl_cafile),
            ("--ssl-certfile", self.ssl_certfile),
            ("--ssl-keyfile", self.ssl_keyfile),
        )
        for flag, path in files:
            if path is None:
                continue
            if not uses_tls:
                raise ProfileError(flag, f"needs --security-protocol SSL or SASL_SSL, not {self.protocol}")
            if not Path(path).is_file():
                raise ProfileError(flag, f"no such file: {path}")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ProfileError(
                "--ssl-keyfile" if self.ssl_keyfile is None else "--ssl-certfile", "give both or neither"
            )
        return self

    def client_config(self) -> dict[str, str]:
        """librdkafka properties (confluent-kafka configuration keys)."""
        config = {"security.protocol": self.protocol}
        if self.protocol.startswith("SASL_"):
            config["sasl.mechanism"] = str(self.sasl_mechanism)
            config["sasl.username"] = str(self.sasl_username)
            config["sasl.password"] = str(self.sasl_password)
        if self.protocol in ("SSL", "SASL_SSL"):
            optional = {
                "ssl.ca.location": self.ssl_cafile,
                "ssl.certificate.location": self.ssl_certfile,
                "ssl.key.location": self.ssl_keyfile,
                "ssl.key.password": self.ssl_key_password,
            }
            config.update({key: value for key, value in optional.items() if value is not None})
            config["ssl.endpoint.identification.algorithm"] = "https" if self.ssl_verify_hostname else "none"
        return config
