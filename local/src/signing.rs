//! The local stand-in for the operator's content-credentials certificate (R41): at each
//! start, a throwaway CA and, from it, a certificate for the public key of the stack's
//! own KMS signing key. In a deployment the operator obtains the certificate from a CA
//! (README, "Content credentials") and puts the chain in Parameter Store; the function
//! reads it the same way here.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SubjectPublicKeyInfo,
};

/// The chain `stamp` presents (end-entity first, then the CA), and the CA alone, which
/// a reader is given as its trust anchor to show "trusted" rather than "valid".
#[derive(Debug, Clone)]
pub struct LocalSigning {
    pub chain_pem: String,
    pub ca_pem: String,
}

/// Issues the certificate for the key whose public half (SubjectPublicKeyInfo, DER)
/// is `public_key`.
pub fn issue(public_key: &[u8]) -> Result<LocalSigning, String> {
    let e = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(e)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.distinguished_name
        .push(DnType::CommonName, "Sora2 AI local content credentials CA");
    ca.distinguished_name
        .push(DnType::OrganizationName, "Sora2 AI (local stack)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca, ca_key);

    // What C2PA asks of a signing certificate: not a CA, digitalSignature as its key
    // usage, an extended key usage it accepts (email protection), and the issuer's
    // key identifier.
    let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "Sora2 AI content credentials (local)");
    leaf.distinguished_name
        .push(DnType::OrganizationName, "Sora2 AI (local stack)");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    leaf.use_authority_key_identifier_extension = true;
    let public = SubjectPublicKeyInfo::from_der(public_key).map_err(e)?;
    let leaf_cert = leaf.signed_by(&public, &issuer).map_err(e)?;
    Ok(LocalSigning {
        chain_pem: format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        ca_pem: ca_cert.pem(),
    })
}
