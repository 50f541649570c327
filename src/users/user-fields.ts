import * as z from 'zod';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, passwordByteLength } from '../auth/passwords';
import { storable, text } from '../http/storable-text';

export const usernameField = text().regex(
  /^[A-Za-z0-9_.-]{3,32}$/,
  'must be 3-32 characters of letters, digits, _ . -',
);

export const emailField = storable(z.email({ message: 'must be an email address' }).max(254));

const PASSWORD_RULE = `must be ${PASSWORD_MIN_BYTES}-${PASSWORD_MAX_BYTES} bytes`;

export const passwordField = text()
  .refine(
    (p) => passwordByteLength(p) >= PASSWORD_MIN_BYTES && passwordByteLength(p) <= PASSWORD_MAX_BYTES,
    PASSWORD_RULE,
  )
  // JSON Schema counts characters, not bytes: the bounds that hold for any UTF-8 (1-4 bytes each), and the rule itself.
  .meta({
    minLength: Math.ceil(PASSWORD_MIN_BYTES / 4),
    maxLength: PASSWORD_MAX_BYTES,
    description: `UTF-8 encoded, it ${PASSWORD_RULE} (bcrypt reads no further)`,
  });
