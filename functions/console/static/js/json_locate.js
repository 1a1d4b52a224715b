// Where in a JSON text a value is: the API's messages name fields by path (`_tasks[0]._retryCount: ...`),
// and the editor shows the user the place that path names in what they typed.

export class JsonSyntaxError extends Error {
  constructor(message, offset) {
    super(message);
    this.offset = offset;
  }
}

/** The document's tree of values with their [start, end) offsets; object members also with their key's. */
export function parseWithPositions(text) {
  let at = 0;
  const fail = (what) => {
    throw new JsonSyntaxError(at < text.length ? `${what}, found ${JSON.stringify(text[at])}` : `${what}, found the end`, at);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at += 1;
  };
  const expect = (character) => {
    if (text[at] !== character) fail(`expected ${JSON.stringify(character)}`);
    at += 1;
  };
  const string = () => {
    const start = at;
    expect('"');
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\') at += 1;
      else if (text[at] < ' ') fail('a string cannot hold a raw control character or line break');
      at += 1;
    }
    expect('"');
    try {
      return JSON.parse(text.slice(start, at));
    } catch {
      at = start;
      return fail('a string with a bad escape');
    }
  };
  const LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

  function value() {
    space();
    const start = at;
    const character = text[at];
    if (character === '{') {
      at += 1;
      const members = new Map();
      space();
      if (text[at] === '}') {
        at += 1;
        return { kind: 'object', start, end: at, members };
      }
      for (;;) {
        space();
        const keyStart = at;
        if (text[at] !== '"') fail('expected a member name in double quotes');
        const key = string();
        const keyEnd = at;
        space();
        expect(':');
        members.set(key, { keyStart, keyEnd, node: value() });
        space();
        if (text[at] === ',') {
          at += 1;
          continue;
        }
        if (text[at] !== '}') fail('expected "," or "}"');
        at += 1;
        return { kind: 'object', start, end: at, members };
      }
    }
    if (character === '[') {
      at += 1;
      const items = [];
      space();
      if (text[at] === ']') {
        at += 1;
        return { kind: 'array', start, end: at, items };
      }
      for (;;) {
        items.push(value());
        space();
        if (text[at] === ',') {
          at += 1;
          continue;
        }
        if (text[at] !== ']') fail('expected "," or "]"');
        at += 1;
        return { kind: 'array', start, end: at, items };
      }
    }
    if (character === '"') {
      string();
      return { kind: 'string', start, end: at };
    }
    LITERAL.lastIndex = at;
    const literal = LITERAL.exec(text);
    if (!literal) fail('expected a value');
    at += literal[0].length;
    return { kind: 'literal', start, end: at };
  }

  const root = value();
  space();
  if (at < text.length) fail('expected the end of the document');
  return root;
}

/** `_tasks[0]._inputParams._url` as ['_tasks', 0, '_inputParams', '_url']. */
export function pathSegments(path) {
  const segments = [];
  for (const match of path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) {
    segments.push(match[1] !== undefined ? Number(match[1]) : match[2]);
  }
  return segments;
}

/** The range a path names: a member with its key, an item, or (for a missing one, such as a required
 * field left out) the nearest value that holds it, with `found: false`. */
export function locate(root, segments) {
  let node = root;
  let range = { start: root.start, end: root.end };
  for (const segment of segments) {
    let next;
    if (node.kind === 'object' && typeof segment === 'string' && node.members.has(segment)) {
      const member = node.members.get(segment);
      next = member.node;
      range = { start: member.keyStart, end: member.node.end };
    } else if (node.kind === 'array' && typeof segment === 'number' && segment < node.items.length) {
      next = node.items[segment];
      range = { start: next.start, end: next.end };
    } else {
      return { ...range, found: false };
    }
    node = next;
  }
  return { ...range, found: true };
}

export function lineAndColumn(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

const PATH = String.raw`[A-Za-z_$][\w$-]*(?:\[\d+\]|\.[\w$-]+)*`;

/** An API message, `path: what; path: what`, as its parts; a part that names no field has `path: null`. */
export function fieldErrors(message) {
  return String(message)
    .split(new RegExp(`; (?=${PATH}: )`))
    .map((part) => {
      const match = new RegExp(`^(${PATH}): ([\\s\\S]*)$`).exec(part);
      return match ? { path: match[1], text: match[2] } : { path: null, text: part };
    });
}
