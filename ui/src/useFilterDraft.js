// A filter form's values as the user types them, kept across answers: the form is drawn once, not
// anew per query, so neither typed keys nor the focus are lost while an answer is on its way.
// When the address brings other filters (a submit, back or forward), each field the address
// changed takes the address's value; the others keep what is typed.
//
// The address a submit asks for arrives in a transition (React Router renders navigations with
// startTransition), so keys typed after the submit can be rendered before it. A field typed in
// since the form was sent keeps what is typed when the address brings what the form sent for it.
import { useState } from 'react';

export function useFilterDraft(applied) {
  const [draft, setDraft] = useState(applied);
  const [seen, setSeen] = useState(applied);
  // The last submit: the fields as typed then, and the values it asked the address for.
  const [sent, setSent] = useState(null);
  const changed = Object.keys(applied).filter((name) => applied[name] !== seen[name]);
  if (changed.length > 0) {
    // Adjusting state while rendering (React's pattern for state that follows a prop): the form
    // never shows the old query's values next to the new query's answer.
    setSeen(applied);
    setSent(null);
    const typedSinceSent = (typed, name) => sent !== null
      && sent.address[name] === applied[name] && typed[name] !== sent.typed[name];
    setDraft((typed) => ({
      ...typed,
      ...Object.fromEntries(changed
        .filter((name) => !typedSinceSent(typed, name))
        .map((name) => [name, applied[name]])),
    }));
  }
  const set = (name) => (event) => {
    const { value } = event.target;
    setDraft((typed) => ({ ...typed, [name]: value }));
  };
  // Called by the form's submit with the values (by field) it puts in the address.
  const sending = (address) => setSent({ typed: draft, address });
  return [draft, set, sending];
}
