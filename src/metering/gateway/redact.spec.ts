import { REDACTED, secretRedactor } from './redact';

describe('secretRedactor', () => {
  const redact = secretRedactor(['sk-a"b\\c', 'Bearer sk-a"b\\c', '']);

  it('replaces every occurrence, raw, JSON-escaped and URL-encoded', () => {
    const raw = 'auth=Bearer sk-a"b\\c and again sk-a"b\\c';
    expect(redact(raw)).toBe(`auth=${REDACTED} and again ${REDACTED}`);
    const inJson = JSON.stringify({ message: 'header was Bearer sk-a"b\\c' });
    expect(redact(inJson)).toBe(JSON.stringify({ message: `header was ${REDACTED}` }));
    expect(JSON.parse(redact(inJson)).message).not.toContain('sk-a');
    expect(redact(`?key=${encodeURIComponent('sk-a"b\\c')}`)).toBe(`?key=${REDACTED}`);
  });

  it('leaves text without secrets unchanged (an empty secret redacts nothing)', () => {
    expect(redact('nothing secret here')).toBe('nothing secret here');
  });
});
