import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IsUuid, isUuid, normalizeUuid } from './uuid';

class Probe {
  @IsUuid()
  id: string;
}

const check = (id: unknown) => {
  const p = plainToInstance(Probe, { id });
  return { id: p.id, errors: validateSync(p).flatMap((e) => Object.values(e.constraints ?? {})) };
};

describe('the UUID check', () => {
  it.each([
    ['lower case', '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11'],
    ['upper case (RFC 9562: case-insensitive on input)', '0B7C5F0E-3D0A-4A53-9A53-5D1F2F1C9E11'],
    ['nil', '00000000-0000-0000-0000-000000000000'],
    ['max', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
    ['any version PostgreSQL accepts', '0b7c5f0e-3d0a-0a53-1a53-5d1f2f1c9e11'],
  ])('accepts %s', (_label, id) => {
    expect(isUuid(id)).toBe(true);
  });

  it.each(['', 'not-a-uuid', '0b7c5f0e3d0a4a539a535d1f2f1c9e11', '{0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11}', '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e1g', ' 0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11', 42, null])(
    'refuses %j',
    (id) => {
      expect(isUuid(id)).toBe(false);
    },
  );

  it('normalizes valid ids to lower case and leaves anything else for the validator', () => {
    expect(normalizeUuid('0B7C5F0E-3D0A-4A53-9A53-5D1F2F1C9E11')).toBe('0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11');
    expect(normalizeUuid('NOT-A-UUID')).toBe('NOT-A-UUID');
  });

  it('IsUuid lower-cases a valid input and refuses a malformed one with the field named', () => {
    expect(check('0B7C5F0E-3D0A-4A53-9A53-5D1F2F1C9E11')).toEqual({ id: '0b7c5f0e-3d0a-4a53-9a53-5d1f2f1c9e11', errors: [] });
    expect(check('nope')).toEqual({ id: 'nope', errors: ['id must be a UUID'] });
  });
});
