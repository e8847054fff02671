"""Signing keys and bearer tokens for the service's access-control tests:
keys made by `cryptography`, their public halves as a JWKS, tokens signed by PyJWT."""

import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://issuer.tessera.test"


class Signer:
    """An RSA (RS256) or EC P-256 (ES256) key with a key id."""

    def __init__(self, kind="rsa", kid=None):
        self.algorithm = "RS256" if kind == "rsa" else "ES256"
        self.kid = kid or f"{kind}-key"
        if kind == "rsa":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            algorithm = jwt.algorithms.RSAAlgorithm
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            algorithm = jwt.algorithms.ECAlgorithm
        self.jwk = json.loads(algorithm.to_jwk(self.key.public_key()))
        self.jwk.update(kid=self.kid, use="sig", alg=self.algorithm)

    def token(self, scope="stac:write", expires_in=600, **claims):
        payload = {"iss": ISSUER, "sub": "tester", "scope": scope, "exp": int(time.time()) + expires_in, **claims}
        return jwt.encode(payload, self.key, algorithm=self.algorithm, headers={"kid": self.kid})


def jwks(*signers):
    return {"keys": [signer.jwk for signer in signers]}
