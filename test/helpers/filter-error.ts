import { FilterError } from '../../src/scim/filter';

/** Runs `run`, expecting it to throw a FilterError, and returns that error for further checks. */
export function errorOf(run: () => unknown): FilterError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FilterError);
    return err as FilterError;
  }
  throw new Error('expected a FilterError');
}
