// Times are shown in Beijing time, the zone the service's working-day calendar uses.
const ZONE = 'Asia/Shanghai';

export function formatTime(value, lang) {
  if (!value) return '';
  // A moment the service could not resolve (a timer's expression) is shown as it is.
  if (Number.isNaN(Date.parse(value))) return String(value);
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', {
    timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).format(new Date(value));
}

const DAY = 24 * 3600 * 1000;

// overdue: past the due moment; soon: the reminder moment (follow_up_at) has passed, or, without
// one, less than a day is left.
export function dueState(task, now = Date.now()) {
  if (!task.due_at) return 'none';
  const due = Date.parse(task.due_at);
  if (due < now) return 'overdue';
  const remind = task.follow_up_at ? Date.parse(task.follow_up_at) : due - DAY;
  return remind <= now ? 'soon' : 'onTrack';
}
