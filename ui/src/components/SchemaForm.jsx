// A task or start form rendered from the JSON Schema the API returns: enum labels as selects
// (and in read-only fields named as an enum), required yes/no questions as radio buttons, dates as
// date pickers, read-only values shown but never sent back; the server's 422 messages appear at
// their fields. A required yes/no question starts unanswered unless the task holds a value or the
// form declares a default.
import Form from '@rjsf/core';
import { customizeValidator } from '@rjsf/validator-ajv8';
import localizeEn from 'ajv-i18n/localize/en';
import localizeZh from 'ajv-i18n/localize/zh';
import { useEffect, useLayoutEffect, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import i18n from '../i18n.js';

// rjsf fills a required boolean without a default with false, which would answer the question
// "no" for the user; unanswered, the required check says so at the field instead.
export const defaultFormStateBehavior = { requiredBooleanDefault: 'skip' };

// ajv-i18n's messages, but a missing required value says only "required" at its field (the
// field already shows its label): ajv-i18n's "应当有必需属性 '业务类型'" read like a code.
function localized(localize, lang) {
  return (errors) => {
    localize(errors);
    for (const error of errors || []) {
      if (error.keyword === 'required') error.message = i18n.t('form.required', { lng: lang });
    }
  };
}

const validators = {
  zh: customizeValidator({}, localized(localizeZh, 'zh')),
  en: customizeValidator({}, localized(localizeEn, 'en')),
};

// A read-only text field the process also declares as an enum (x-enum-labels without enum):
// the label of its value (大工业), not the code (LARGE_INDUSTRY); a value without one as it is.
export function LabelledValue({ id, value, schema }) {
  const labels = schema['x-enum-labels'] || {};
  const text = value === undefined || value === null ? '' : labels[value] ?? String(value);
  return <input id={id} className="form-control" value={text} title={value ?? ''} readOnly />;
}

// A read-only value as text: a list one item per line, an object as indented JSON.
export function readOnlyText(value) {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('\n');
  if (typeof value === 'object') return JSON.stringify(value, null, 2);
  return String(value);
}

// A read-only text value in full: a short one-line value in an input, a long one or one with line
// breaks (a merged defect list, three recommended units) in a read-only textarea as tall as its
// text, wrapped, its line breaks kept.
export function ReadOnlyValue({ id, value }) {
  const text = readOnlyText(value);
  const long = text.includes('\n') || text.length > 40;
  const box = useRef(null);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + (el.offsetHeight - el.clientHeight)}px`;
  }, [text, long]);
  if (!long) return <input id={id} className="form-control" value={text} readOnly />;
  return <textarea id={id} ref={box} className="form-control read-only-text" value={text} rows={1} readOnly />;
}

export function uiSchemaFor(schema, t) {
  const ui = { 'ui:submitButtonOptions': { norender: true } };
  for (const [name, prop] of Object.entries(schema?.properties || {})) {
    const field = {};
    if (prop.enum && prop['x-enum-labels']) {
      field['ui:enumNames'] = prop.enum.map((v) => prop['x-enum-labels'][v] ?? v);
    }
    if (prop.readOnly && !prop.enum && prop['x-enum-labels']) {
      field['ui:widget'] = LabelledValue;
    }
    if (prop.readOnly && !prop.enum && !prop['x-enum-labels'] && !prop.format
      && (prop.type === 'string' || prop.type === 'array' || prop.type === 'object' || prop.type === undefined)) {
      field['ui:widget'] = ReadOnlyValue;
    }
    if (prop.type === 'boolean' && (schema.required || []).includes(name)) {
      field['ui:widget'] = 'radio';
      field['ui:enumNames'] = [t('common.yes'), t('common.no')];
      field['ui:options'] = { inline: true };
    }
    if (prop.type === 'string' && !prop.enum && !prop.format && (prop.maxLength || 0) > 200) {
      field['ui:widget'] = 'textarea';
    }
    ui[name] = field;
  }
  return ui;
}

// Values the form may send: no read-only fields, nothing unset.
export function submittable(schema, values) {
  const out = {};
  for (const [name, prop] of Object.entries(schema?.properties || {})) {
    const value = values?.[name];
    if (prop.readOnly || value === undefined || value === null) continue;
    out[name] = value;
  }
  return out;
}

// Values as the form shows them: null means "not set" to JSON Schema validation. Only the form's
// own fields: a task also holds variables its form does not list (a multi-instance's item), and
// the schema refuses additional properties, so one of them blocked the submit.
export function shown(values, schema) {
  const fields = schema?.properties;
  return Object.fromEntries(
    Object.entries(values || {}).filter(([name, v]) => v !== null && (!fields || name in fields)),
  );
}

export function serverErrors(fieldErrors) {
  const extra = {};
  for (const [field, messages] of Object.entries(fieldErrors || {})) {
    extra[field] = { __errors: messages };
  }
  return extra;
}

// The keyboard to a field in error: its input (a yes/no question's first choice). rjsf's own
// focusOnFirstError did not reach the field of a missing required value (新建申请 kept the
// focus on its submit button).
function focusField(formId, property) {
  const name = String(property || '').replace(/^\./, '').split('.')[0];
  const form = document.getElementById(formId);
  if (!name || !form) return;
  const field = form.querySelector(`[id="root_${name}"]:is(input, select, textarea)`)
    || form.querySelector(`[id^="root_${name}-"]:is(input, select, textarea)`);
  field?.focus();
}

export default function SchemaForm({ id, schema, formData, onChange, onSubmit, onError, disabled, extraErrors }) {
  const { t, i18n } = useTranslation();
  const uiSchema = useMemo(() => uiSchemaFor(schema, t), [schema, t]);
  // The service's refusal (a 422 by field): the keyboard goes to the first field it names, as
  // it does to the first field the form's own checks refuse (focusOnFirstError).
  const refused = JSON.stringify(Object.keys(extraErrors || {}));
  useEffect(() => {
    const form = document.getElementById(id);
    const name = JSON.parse(refused).find((n) => form?.querySelector(`[id="root_${n}"], [id^="root_${n}-"]`));
    if (name) focusField(id, name);
  }, [id, refused]);
  return (
    <Form
      id={id}
      className="schema-form"
      schema={schema}
      uiSchema={uiSchema}
      formData={formData}
      validator={validators[i18n.language] || validators.zh}
      experimental_defaultFormStateBehavior={defaultFormStateBehavior}
      onChange={(e) => onChange?.(e.formData)}
      onSubmit={(e) => onSubmit?.(e.formData)}
      // The errors show at their fields; rjsf would otherwise also log them to the console.
      onError={(errors) => onError?.(errors)}
      disabled={disabled}
      extraErrors={extraErrors}
      extraErrorsBlockSubmit={false}
      showErrorList={false}
      noHtml5Validate
      focusOnFirstError={(error) => focusField(id, error?.property)}
    />
  );
}
