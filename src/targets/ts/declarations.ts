/**
 * A generated module's statements -> source text. The module is written as text: the few
 * declarations it has (interfaces, functions) have one fixed shape each, so a code writer that
 * lays them out is enough, and it saves loading TypeScript (about a second) and running ts-morph's
 * structure printer per module. The layout is the one ts-morph's printer gave (the generated
 * modules did not change when the printer went): two-space indentation, a blank line around
 * every interface and function, statements given as text one per line, a doc comment on one line
 * when its text is one line.
 */

/** A property of an interface. */
export interface PropertyText {
  name: string;
  type: string;
  readonly?: boolean;
  optional?: boolean;
  docs?: string;
}

/** A method signature of an interface. */
export interface MethodText {
  name: string;
  parameters: ParameterText[];
  returnType: string;
}

export interface ParameterText {
  name: string;
  type: string;
  initializer?: string;
}

export interface InterfaceText {
  kind: 'interface';
  name: string;
  exported?: boolean;
  docs?: string;
  extends?: string[];
  properties?: PropertyText[];
  methods?: MethodText[];
}

export interface FunctionText {
  kind: 'function';
  name: string;
  exported?: boolean;
  docs?: string;
  parameters: ParameterText[];
  returnType: string;
  /** Statements as text, each possibly of several lines (indented with the body). */
  statements: string[];
}

/** A statement as text (one or more lines, written as given), or a declaration laid out here. */
export type Statement = string | InterfaceText | FunctionText;

const INDENT = '  ';

/** `/** text *\/` on one line, or one ` * ` line per line of `text`; then a line break. */
function docComment(text: string | undefined, indent: string): string {
  if (text === undefined) return '';
  const lines = text.split(/\r?\n/);
  // ts-morph wrote a space before the closing `*/` unless the text ended with one.
  if (lines.length <= 1) return `${indent}/** ${lines[0]}${lines[0] === '' || lines[0]!.endsWith(' ') ? '' : ' '}*/\n`;
  const body = (lines[0]!.length === 0 ? lines.slice(1) : lines).map((l) => `${indent} *${l.length > 0 ? ` ${l}` : ''}\n`);
  return `${indent}/**\n${body.join('')}${indent} */\n`;
}

function parameters(ps: readonly ParameterText[]): string {
  return ps.map((p) => `${p.name}: ${p.type}${p.initializer !== undefined ? ` = ${p.initializer}` : ''}`).join(', ');
}

/** Continuation lines of `text` indented by `indent`; empty lines stay empty. */
function indented(text: string, indent: string): string {
  return indent + text.replace(/\n(?=.)/g, `\n${indent}`);
}

function interfaceText(d: InterfaceText): string {
  const members = [
    ...(d.properties ?? []).map(
      (p) => `${docComment(p.docs, INDENT)}${INDENT}${p.readonly ? 'readonly ' : ''}${p.name}${p.optional ? '?' : ''}: ${p.type};`,
    ),
    ...(d.methods ?? []).map((m) => `${INDENT}${m.name}(${parameters(m.parameters)}): ${m.returnType};`),
  ];
  const head = `${d.exported ? 'export ' : ''}interface ${d.name} ${d.extends?.length ? `extends ${d.extends.join(', ')} ` : ''}`;
  return `${docComment(d.docs, '')}${head}{\n${members.join('\n')}\n}`;
}

function functionText(d: FunctionText): string {
  const head = `${d.exported ? 'export ' : ''}function ${d.name}(${parameters(d.parameters)}): ${d.returnType} `;
  return `${docComment(d.docs, '')}${head}{\n${d.statements.map((s) => indented(s, INDENT)).join('\n')}\n}`;
}

/** A module's statements, in order, as source text ending in one line break. */
export function printStatements(statements: readonly Statement[]): string {
  let out = '';
  let previousDeclaration = false;
  statements.forEach((s, i) => {
    const declaration = typeof s !== 'string';
    if (i > 0) out += declaration || previousDeclaration ? '\n\n' : '\n';
    out += typeof s === 'string' ? s : s.kind === 'interface' ? interfaceText(s) : functionText(s);
    previousDeclaration = declaration;
  });
  return statements.length ? `${out}\n` : out;
}
