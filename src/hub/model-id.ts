// Is a string a Hub model id? The rules of huggingface_hub's `validate_repo_id`: `name` or
// `org/name`, each part made of letters, digits, "_", "-" and ".", not starting or ending with
// "-" or ".", no "--" nor ".." anywhere, no ".git" suffix, at most 96 characters. Anything else
// (`./models/sd`, `/abs/path`, `a/b/c`, `C:\models`) can only be a local path.

const PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const MAX_LENGTH = 96;

/** Why `id` is not a valid Hub model id, or undefined when it is one. */
export function repoIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_LENGTH) return `it has ${id.length} characters (at most ${MAX_LENGTH})`;
  if (/[\\:~]/.test(id) || /^[./]/.test(id)) return 'it looks like a file-system path';
  const parts = id.split('/');
  if (parts.length > 2) return 'a Hub id has at most one "/" (org/name)';
  if (!parts.every((p) => PART.test(p))) return 'each part may only hold letters, digits, "_", "-" and "." and must start and end with a letter, digit or "_"';
  if (id.includes('--') || id.includes('..')) return '"--" and ".." are not allowed in Hub ids';
  if (id.endsWith('.git')) return 'it ends with ".git"';
  return undefined;
}

export function isHubModelId(id: string): boolean {
  return repoIdProblem(id) === undefined;
}
