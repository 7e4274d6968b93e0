import type { Command } from 'commander';

/** Commands contributed by feature modules (token, registration-tokens, …), loaded if present. */
export async function extraCommands(): Promise<Command[]> {
  const out: Command[] = [];
  const mods: [string, string][] = [
    ['./commands/token.js', 'tokenCommand'],
    ['./commands/registration-tokens.js', 'registrationTokensCommand'],
  ];
  for (const [path, name] of mods) {
    try {
      const m = (await import(path)) as Record<string, () => Command>;
      if (typeof m[name] === 'function') out.push(m[name]!());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  return out;
}
