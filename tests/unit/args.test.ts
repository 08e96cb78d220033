/** The argument parser (src/cli.ts parseArgs): GNU getopt and make conventions. */
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { parseArgs } from '../../src/cli.js';

const cpus = availableParallelism();
const usage = (argv: string[]): string => {
  try {
    parseArgs(argv);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(argv)}`);
};

describe('-j and --jobs', () => {
  it.each([
    [['-j4'], 4],
    [['-j', '4'], 4],
    [['--jobs=4'], 4],
    [['--jobs', '4'], 4],
    [['-j'], cpus],
    [['--jobs'], cpus],
    [['-j3', '-j5'], 5],
  ])('%j gives %i jobs', (argv, jobs) => expect(parseArgs(argv).jobs).toBe(jobs));

  it('a bare -j before a word leaves the word a target, as with make', () => {
    const a = parseArgs(['-j', 'demo']);
    expect(a.jobs).toBe(cpus);
    expect(a.targets).toEqual(['demo']);
    expect(a.wordAfterBareJobs).toBe('demo');
  });

  it.each([
    [['-j4n'], "invalid value '4n' for -j: expected a whole number from 1 to 4096"],
    [['-j', '-3'], "invalid value '-3' for -j: expected a whole number from 1 to 4096"],
    [['-j', '4.5'], "invalid value '4.5' for -j: expected a whole number from 1 to 4096"],
    [['--jobs=0'], "invalid value '0' for --jobs: expected a whole number from 1 to 4096"],
    [['--jobs='], "invalid value '' for --jobs: expected a whole number from 1 to 4096"],
    [['-j5000'], "invalid value '5000' for -j: expected a whole number from 1 to 4096"],
  ])('%j is refused', (argv, message) => expect(usage(argv)).toBe(message));
});

describe('bundled short options', () => {
  it.each([
    [['-nj4'], { dryRun: true, jobs: 4 }],
    [['-kj4'], { keepGoing: true, jobs: 4 }],
    [['-nkj', '2'], { dryRun: true, keepGoing: true, jobs: 2 }],
    [['-nk'], { dryRun: true, keepGoing: true }],
    [['-kC', '/tmp'], { keepGoing: true, directory: '/tmp' }],
    [['-nC/tmp'], { dryRun: true, directory: '/tmp' }],
  ])('%j', (argv, expected) => expect(parseArgs(argv)).toMatchObject(expected));

  it('an unknown letter in a bundle is named', () => expect(usage(['-nx'])).toBe("unknown option '-x' in '-nx'"));
  it('a value option at the end of a bundle needs its value', () => expect(usage(['-kC'])).toBe('option -C needs a value'));
});

describe('long options', () => {
  it('a unique prefix is enough', () => expect(parseArgs(['--keep', '--dry'])).toMatchObject({ keepGoing: true, dryRun: true }));
  it('an ambiguous prefix is refused with the candidates', () => expect(usage(['--d'])).toBe("option '--d' is ambiguous: it could be --debug, --directory, --dry-run"));
  it('a flag given a value is refused', () => expect(usage(['--dry-run=yes'])).toBe("option --dry-run takes no value (got 'yes')"));
  it('--set=K=V keeps everything after the first =', () => expect(parseArgs(['--set=demo.greeting=a=b']).sets).toEqual(['demo.greeting=a=b']));
  it('--source and --profile-task become settings', () => expect(parseArgs(['--source', 'x.tar.gz', '--profile-task=regrtest']).sets).toEqual(['source=x.tar.gz', 'pgo.task=regrtest']));
  it('an unknown option', () => expect(usage(['--frobnicate'])).toBe("unknown option '--frobnicate'"));
  it('an option with no name', () => expect(usage(['--=x'])).toBe("unknown option '--='"));
});

describe('-C, commands, targets and --', () => {
  it('-C repeated is cumulative, as with make', () => expect(parseArgs(['-C', 'a', '-C', 'b']).directory).toBe('a/b'));
  it('an absolute -C replaces the earlier ones', () => expect(parseArgs(['-C', 'a', '-C', '/srv/p']).directory).toBe('/srv/p'));
  it('an empty -C is refused', () => expect(usage(['-C', ''])).toBe('option -C needs a directory, got an empty string'));
  it('options and targets mix in any order', () => expect(parseArgs(['demo', '-n', 'unopt', '-j2'])).toMatchObject({ targets: ['demo', 'unopt'], dryRun: true, jobs: 2 }));
  it('-- ends the options', () => expect(parseArgs(['-n', '--', '-j4', '--weird'])).toMatchObject({ dryRun: true, targets: ['-j4', '--weird'] }));
  it('the first word may be a command', () => expect(parseArgs(['clean', '--no-wait', 'demo'])).toMatchObject({ command: 'clean', noWait: true, targets: ['demo'] }));
  it('--format only with graph', () => expect(usage(['--format', 'json'])).toBe('--format only applies to the graph command'));
  it('--verify-outputs, also by a unique prefix; --ver is ambiguous with --version', () => {
    expect(parseArgs(['--verify-outputs', 'opt'])).toMatchObject({ verifyOutputs: true, targets: ['opt'] });
    expect(parseArgs(['--verify']).verifyOutputs).toBe(true);
    expect(parseArgs([]).verifyOutputs).toBe(false);
    expect(usage(['--ver'])).toMatch(/ambiguous/);
  });
});

describe('run VARIANT SCRIPT [ARGS...]', () => {
  it('options before the script are ours, in any order; every word after it is the script’s', () =>
    expect(parseArgs(['-j2', 'run', '-C', 'p', 'opt', '--explain', 'x.py', '-j', '4', '--set', 'a=b', '--', '-n', 'run'])).toMatchObject({
      command: 'run',
      jobs: 2,
      directory: 'p',
      explain: true,
      sets: [],
      targets: ['opt'],
      script: 'x.py',
      scriptArgs: ['-j', '4', '--set', 'a=b', '--', '-n', 'run'],
    }));
  it('-- before the variant or the script ends our options', () => {
    expect(parseArgs(['run', '--', 'opt', 'x.py', '-n'])).toMatchObject({ targets: ['opt'], script: 'x.py', scriptArgs: ['-n'], dryRun: false });
    expect(parseArgs(['run', 'opt', '--', '-x.py', '--help'])).toMatchObject({ targets: ['opt'], script: '-x.py', scriptArgs: ['--help'], help: false });
  });
  it('no script, no variant: the words are missing, not an error yet', () => {
    expect(parseArgs(['run', 'opt'])).toMatchObject({ command: 'run', targets: ['opt'], script: undefined, scriptArgs: [] });
    expect(parseArgs(['run'])).toMatchObject({ command: 'run', targets: [], script: undefined });
  });
  it('--help before the script is run’s', () => expect(parseArgs(['run', '--help'])).toMatchObject({ command: 'run', help: true }));
  it('-n and --json do not apply', () => {
    expect(usage(['-n', 'run', 'opt', 'x.py'])).toBe('-n does not apply to run: it builds the variant, then runs the script');
    expect(usage(['run', '--json', 'opt', 'x.py'])).toBe('--json does not apply to run: it builds the variant, then runs the script');
  });
  it('a word run that is not the first is a target', () => expect(parseArgs(['opt', 'run'])).toMatchObject({ command: 'build', targets: ['opt', 'run'] }));
});
