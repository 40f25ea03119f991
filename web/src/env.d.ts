/** The privacy policy's version ("Last updated" date), read from the policy file at build time. */
declare const __POLICY_VERSION__: string;
