// Which queues an agent's skills reach: a small evaluator for the common requirement expressions
// ("sales >= 5 and (nl >= 3 or en >= 7)"). Anything it does not know (task.X, agent.X,
// skill[...], strings) makes the answer "unknown" (null) rather than a guess.

function tokenize(text) {
  const re = /\s*(>=|<=|==|!=|>|<|\(|\)|\d+(?:\.\d+)?|[A-Za-z_][\w-]*|\S)/g;
  const out = [];
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m[1] === undefined) break;
    out.push(m[1]);
  }
  return out;
}

/** Evaluate `text` for `skills` ({name: level}); true/false, or null when it cannot tell. */
export function eligible(text, skills) {
  const tokens = tokenize(String(text || ""));
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const fail = () => {
    throw new Error("unknown");
  };
  const value = () => {
    const tok = next();
    if (tok === undefined) fail();
    if (/^\d/.test(tok)) return Number(tok);
    if (/^[A-Za-z_]/.test(tok) && !["and", "or", "not", "in", "True", "False"].includes(tok)) {
      if (peek() === "." || peek() === "[") fail();
      return Number(skills[tok] || 0);
    }
    if (tok === "True") return true;
    if (tok === "False") return false;
    return fail();
  };
  const comparison = () => {
    if (peek() === "(") {
      next();
      const v = or();
      if (next() !== ")") fail();
      return v;
    }
    if (peek() === "not") {
      next();
      return !comparison();
    }
    let left = value();
    const ops = { ">=": (a, b) => a >= b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, "<": (a, b) => a < b, "==": (a, b) => a === b, "!=": (a, b) => a !== b };
    if (!(peek() in ops)) return Boolean(left);
    let result = true;
    while (peek() in ops) {
      const op = ops[next()];
      const right = value();
      result = result && op(left, right);
      left = right;
    }
    return result;
  };
  const and = () => {
    let v = comparison();
    while (peek() === "and") {
      next();
      v = comparison() && v;
    }
    return v;
  };
  const or = () => {
    let v = and();
    while (peek() === "or") {
      next();
      v = and() || v;
    }
    return v;
  };
  try {
    const v = or();
    return i === tokens.length ? v : null;
  } catch {
    return null;
  }
}
