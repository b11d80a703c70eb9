/** An address, prefix or MAC text that is not what it claims to be; `kind` names what was expected. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  constructor(readonly kind: 'ipv4' | 'ipv6' | 'prefix' | 'mac', message: string) {
    super(message);
  }
}
