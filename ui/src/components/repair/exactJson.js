// JSON typed by a user, read only when every number in it survives as written: JavaScript keeps a
// number as a double, so 1e999 would become Infinity (sent as null) and 9007199254740993 would
// become 9007199254740992 without a word. What is read is sent as typed (objectText), since
// JSON.parse also loses what the service keeps: 80.0 is a float there (Camunda's Double), 80 an
// integer.

// In valid JSON every digit outside a string belongs to a number literal.
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

// A decimal as sign, significant digits (no leading or trailing zeros) and the power of ten of
// its last digit; zero is { digits: '' }.
function decimal(text) {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return null;
  const [, sign, whole, fraction = '', exp = '0'] = m;
  let digits = (whole + fraction).replace(/^0+/, '');
  let power = Number(exp) - fraction.length;
  const kept = digits.replace(/0+$/, '');
  power += digits.length - kept.length;
  digits = kept;
  return digits ? { sign, digits, power } : { digits: '' };
}

// Why the literal cannot be kept as a number, or null when it can.
export function inexactNumber(literal) {
  const value = Number(literal);
  if (!Number.isFinite(value)) return 'infinite';
  const integer = /^-?\d+$/.test(literal);
  if (integer && !Number.isSafeInteger(value)) return 'unsafe';
  // The shortest text of the double must name the same decimal as the literal's digits.
  const typed = decimal(literal);
  const kept = decimal(String(value).replace('e+', 'e'));
  if (typed.digits === '' && kept.digits === '') return null;
  if (typed.digits !== kept.digits || typed.power !== kept.power || typed.sign !== kept.sign) {
    return 'rounded';
  }
  return null;
}

// { value } as JSON.parse reads the text, { inexact: literal } for the first number literal that
// would change, or null when the text is not JSON.
export function parseExact(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  for (const [token] of text.matchAll(TOKENS)) {
    if (!token.startsWith('"') && inexactNumber(token)) return { inexact: token };
  }
  return { value };
}

// The JSON text of an object whose members are JSON texts already (name → text), so that each
// member reaches the service as it was typed.
export function objectText(members) {
  const listed = Object.entries(members).map(([name, text]) => `${JSON.stringify(name)}: ${text}`);
  return `{${listed.join(', ')}}`;
}

// The members of a JSON object text as the text of each (name → text), nothing read as a number:
// the service writes a float as 80.0 and an integer as 80, which JSON.parse would both make 80.
// The text must be one JSON.parse has read as an object: the scan checks nothing.
export function memberTexts(text) {
  const members = {};
  let i = text.indexOf('{') + 1;
  const blank = () => { while (/\s/.test(text[i])) i += 1; };
  // The end of the string or value starting at i (the text is valid JSON: no checks needed).
  const stringEnd = (from) => {
    let j = from + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  const valueEnd = (from) => {
    let depth = 0;
    let j = from;
    while (j < text.length) {
      const c = text[j];
      if (c === '"') {
        j = stringEnd(j);
        if (depth === 0) return j;
        continue;
      }
      if (c === '{' || c === '[') depth += 1;
      else if (c === '}' || c === ']') {
        if (depth === 0) return j;
        depth -= 1;
        if (depth === 0) return j + 1;
      } else if (c === ',' && depth === 0) return j;
      j += 1;
    }
    return j;
  };
  blank();
  while (text[i] === '"') {
    const nameEnd = stringEnd(i);
    const name = JSON.parse(text.slice(i, nameEnd));
    i = nameEnd;
    blank();
    i += 1; // :
    blank();
    const end = valueEnd(i);
    members[name] = text.slice(i, end).trim();
    i = end;
    blank();
    if (text[i] === ',') i += 1;
    blank();
  }
  return members;
}
