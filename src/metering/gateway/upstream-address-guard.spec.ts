import { assertPublicHost, isNonPublicAddress, publicOnlyLookup } from './upstream-address-guard';

describe('upstream address guard', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip'])(
    'refuses %s',
    (a) => expect(isNonPublicAddress(a)).toBe(true),
  );

  it.each(['8.8.8.8', '1.1.1.1', '203.0.114.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (a) => expect(isNonPublicAddress(a)).toBe(false));

  it('refuses IP-literal and localhost hosts', () => {
    expect(() => assertPublicHost('127.0.0.1')).toThrow(/non-public/);
    expect(() => assertPublicHost('[::1]')).toThrow(/non-public/);
    expect(() => assertPublicHost('localhost')).toThrow(/non-public/);
    expect(() => assertPublicHost('api.vendor.example')).not.toThrow();
    expect(() => assertPublicHost('8.8.8.8')).not.toThrow();
  });

  it('fails a lookup that resolves to a loopback address', (done) => {
    publicOnlyLookup('localhost', { all: true }, (err) => {
      expect(err?.message).toMatch(/non-public/);
      done();
    });
  });
});
