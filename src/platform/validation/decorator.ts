import { registerDecorator, ValidationOptions } from 'class-validator';

/** A class-validator decorator from a predicate: `$property must be <what>`. */
export function predicateDecorator(name: string, check: (v: unknown) => boolean, what: string) {
  return (options?: ValidationOptions): PropertyDecorator =>
    (target: object, propertyName: string | symbol) =>
      registerDecorator({
        name,
        target: target.constructor,
        propertyName: propertyName as string,
        options: { message: `$property must be ${what}`, ...options },
        validator: { validate: (v: unknown) => check(v) },
      });
}
