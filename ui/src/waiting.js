// What a case waits for after a completion that offered no new user task (a co-signer who is not
// the last, a reviewer among several), from GET /process-instances/{id}/activities: a
// multi-instance with open instances, another step's user task, an external system, a message,
// a timer; the start of an event subprocess only listens and is left out.
import { walk } from './activities.js';

export function waitingLines(activities, t, time) {
  const lines = [];
  const joins = [];
  const visit = (nodes) => {
    for (const node of nodes || []) {
      const name = node.name || node.element_id;
      if (node.event_subprocess || node.kind === 'event_subprocess') continue;
      if (node.kind === 'multi_instance') {
        const open = [];
        walk(node.children, (child) => { if (child.kind === 'user_task') open.push(child); });
        if (open.length > 0) lines.push(t('task.waits.others', { name, count: open.length }));
        else visit(node.children);
        continue;
      }
      switch (node.kind) {
        case 'user_task':
          lines.push(t('task.waits.task', { name, who: node.assignee || (node.candidate_groups || []).join(', ') || '–' }));
          break;
        case 'external_task':
          lines.push(t('task.waits.system', { name, topic: node.topic || '–' }));
          break;
        case 'message_wait':
          lines.push(t('task.waits.message', { name, message: node.message_name || '–' }));
          break;
        case 'timer':
          lines.push(t('task.waits.timer', { name, due: node.due ? time(node.due) : '–' }));
          break;
        case 'failed':
          lines.push(t('task.waits.failed', { name }));
          break;
        case 'join':
          joins.push(t('task.waits.join', { name }));
          break;
        default:
          visit(node.children);
      }
    }
  };
  visit(activities);
  // A join waits for the branches listed above; alone, it is what the case waits in.
  return lines.length > 0 ? lines : joins;
}
