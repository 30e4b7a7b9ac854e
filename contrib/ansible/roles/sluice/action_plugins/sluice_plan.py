# SPDX-License-Identifier: GPL-2.0-only
# sluice_plan - run `sluice plan FILE --instance NAME` on the gateway (with
# ansible.builtin.command: nothing of sluice's own is shipped to the host)
# and report it the way Ansible reports a file it would change:
#   exit 0 (no change)  -> ok,       changed=false
#   exit 3 (changes)    -> changed,  and with --diff the plan's text is shown
#                          as the task's diff
#   anything else       -> failed, with sluice's message
# The plan changes nothing, so the task runs in --check too (the role sets
# check_mode: false on it).
from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('bin', 'file', 'instance', 'feed_dir'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        a = self._task.args
        argv = [a.get('bin', 'sluice'), 'plan', a['file'], '--instance', a['instance']]
        if a.get('feed_dir'):
            argv += ['--feed-dir', a['feed_dir']]
        r = self._execute_module(module_name='ansible.builtin.command',
                                 module_args={'argv': argv}, task_vars=task_vars)
        rc = r.get('rc', -1)
        out = r.get('stdout', '')
        result.update(rc=rc, stdout=out, stderr=r.get('stderr', ''), cmd=argv,
                      stdout_lines=out.splitlines())
        if rc not in (0, 3):
            result['failed'] = True
            result['msg'] = 'sluice plan exited %d: %s' % (rc, (r.get('stderr') or r.get('msg') or out).strip())
            return result
        # a non-zero rc would make Ansible call the task failed: 3 is not
        result['failed'] = False
        result['changed'] = rc == 3
        if rc == 3:
            head = 'sluice plan %s --instance %s (on %s):\n' % (
                a['file'], a['instance'], task_vars.get('inventory_hostname', '?'))
            result['diff'] = {'prepared': head + out + ('' if out.endswith('\n') else '\n')}
        return result
