// A filter form's values as the user types them, kept across answers: the form is drawn once, not
// anew per query, so neither typed keys nor the focus are lost while an answer is on its way.
// When the address brings other filters (a submit, back or forward), each field the address
// changed takes the address's value; the others keep what is typed.
import { useState } from 'react';

export function useFilterDraft(applied) {
  const [draft, setDraft] = useState(applied);
  const [seen, setSeen] = useState(applied);
  const changed = Object.keys(applied).filter((name) => applied[name] !== seen[name]);
  if (changed.length > 0) {
    // Adjusting state while rendering (React's pattern for state that follows a prop): the form
    // never shows the old query's values next to the new query's answer.
    setSeen(applied);
    setDraft((typed) => ({ ...typed, ...Object.fromEntries(changed.map((name) => [name, applied[name]])) }));
  }
  const set = (name) => (event) => {
    const { value } = event.target;
    setDraft((typed) => ({ ...typed, [name]: value }));
  };
  return [draft, set];
}
