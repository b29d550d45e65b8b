// The key/value tokens of ovs-ofctl's action syntax ("a,b(c,d),e:f"), split the way ofputil_parse_key_value does,
// and the checks every keyword parser makes on its argument.

import { ActionSyntaxError } from './action-syntax-error.js';

export interface KeyValue {
  readonly key: string;
  /** The text after ':' or '=' or inside '(...)'; undefined for a bare keyword. */
  readonly value: string | undefined;
  readonly paren: boolean;
  /** The whole token, for error messages. */
  readonly token: string;
}

const isDelim = (c: string): boolean => c === ',' || c === ' ' || c === '\t' || c === '\r' || c === '\n';

export function splitKeyValues(text: string): KeyValue[] {
  const out: KeyValue[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isDelim(text[i]!)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isDelim(text[i]!) && text[i] !== ':' && text[i] !== '=' && text[i] !== '(') i++;
    const key = text.slice(start, i);
    if (i >= n || isDelim(text[i]!)) {
      out.push({ key, value: undefined, paren: false, token: key });
      continue;
    }
    const sep = text[i]!;
    i++;
    const vstart = i;
    let depth = sep === '(' ? 1 : 0;
    while (i < n) {
      const c = text[i]!;
      if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) throw new ActionSyntaxError(`unbalanced ')' in "${text.slice(start)}"`, text.slice(start));
        depth--;
        if (depth === 0 && sep === '(') break;
      } else if (depth === 0 && isDelim(c)) break;
      i++;
    }
    if (depth !== 0) throw new ActionSyntaxError(`missing ')' in "${text.slice(start)}"`, text.slice(start));
    if (sep === '(' && text.startsWith(')->', i)) {
      // "key(x)->dst" (check_pkt_larger): the value runs on to the next delimiter, as ofputil_parse_key_value does.
      while (i < n && !isDelim(text[i]!)) i++;
      out.push({ key, value: text.slice(vstart, i), paren: true, token: text.slice(start, i) });
      continue;
    }
    const value = text.slice(vstart, i);
    if (sep === '(') i++; // the closing paren
    out.push({ key, value, paren: sep === '(', token: text.slice(start, i) });
  }
  return out;
}

export const requireValue = (kv: KeyValue): string => {
  if (kv.value === undefined || kv.value === '') throw new ActionSyntaxError(`${kv.key}: missing argument`, kv.token);
  return kv.value;
};

export const noValue = (kv: KeyValue): void => {
  if (kv.value !== undefined) throw new ActionSyntaxError(`${kv.key} takes no argument`, kv.token);
};
