//! The C2PA signer of one stamp: ES256 by the KMS key, with the certificate chain that
//! names that key. It remembers whether KMS failed, because C2PA's errors do not carry
//! the signer's own: a KMS outage is retried, a file that cannot be stamped is not.

use std::sync::Mutex;

use base64::Engine;
use c2pa::{AsyncSigner, SigningAlg};
use shared::adapters::kms::{KeySigner, SignError};

/// The end-entity certificate first, then its issuers (DER each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertChain(Vec<Vec<u8>>);

impl CertChain {
    /// Reads concatenated PEM `CERTIFICATE` blocks, end-entity first.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let mut certs = Vec::new();
        let mut rest = pem;
        while let Some(start) = rest.find(BEGIN) {
            let body = &rest[start + BEGIN.len()..];
            let end = body.find(END).ok_or("a certificate has no END line")?;
            let b64: String = body[..end].split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| "a certificate is not base64")?;
            certs.push(der);
            rest = &body[end + END.len()..];
        }
        if certs.is_empty() {
            return Err("no PEM certificate".into());
        }
        Ok(Self(certs))
    }

    pub fn ders(&self) -> &[Vec<u8>] {
        &self.0
    }

    fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }
}

/// Signs one manifest's claim.
pub struct KmsSigner<'a> {
    key: &'a KeySigner,
    certs: &'a CertChain,
    failure: Mutex<Option<SignError>>,
}

impl<'a> KmsSigner<'a> {
    pub fn new(key: &'a KeySigner, certs: &'a CertChain) -> Self {
        Self {
            key,
            certs,
            failure: Mutex::new(None),
        }
    }

    /// Why KMS did not sign, if that is what failed.
    pub fn failure(&self) -> Option<SignError> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

#[async_trait::async_trait]
impl AsyncSigner for KmsSigner<'_> {
    async fn sign(&self, data: Vec<u8>) -> c2pa::Result<Vec<u8>> {
        match self.key.sign_es256(&data).await {
            Ok(raw) => Ok(raw.to_vec()),
            Err(e) => {
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(e.clone());
                }
                Err(c2pa::Error::BadParam(format!("signing failed: {e}")))
            }
        }
    }

    fn alg(&self) -> SigningAlg {
        SigningAlg::Es256
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        Ok(self.certs.ders().to_vec())
    }

    /// The signature box holds the COSE structure: the 64-byte signature, the
    /// certificate chain and the headers, with room to spare.
    fn reserve_size(&self) -> usize {
        self.certs.len() + 4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r41_a_pem_chain_is_read_end_entity_first() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64(b"leaf"),
            b64(b"ca")
        );
        let chain = CertChain::from_pem(&pem).unwrap();
        assert_eq!(chain.ders(), &[b"leaf".to_vec(), b"ca".to_vec()]);
        assert!(CertChain::from_pem("").is_err());
        assert!(CertChain::from_pem("-----BEGIN CERTIFICATE-----\n!!\n").is_err());
    }
}
