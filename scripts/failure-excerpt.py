"""Print the few lines that say why a Molecule scenario failed.

CI keeps only the end of `make test`'s output, and a failed scenario's log ends with its destroy
step, so the reason sits thousands of lines up. This finds it: the failed tests of a testinfra
verify ("short test summary info") and their "E" lines, else the last Ansible failure that was
not ignored or rescued, with its task name, else Molecule's own CRITICAL/ERROR lines.

usage: failure-excerpt.py LOG [MAX_LINES]
"""
import re
import sys

WIDTH = 240


def ansible_failures(lines):
    """Yield (task line, failure block) for each fatal/failed result not followed by '...ignoring'."""
    task = ""
    block = None
    for line in lines:
        if line.startswith(("TASK [", "RUNNING HANDLER [", "PLAY [", "PLAY RECAP")):
            if block:
                yield task, block
            block = None
            if not line.startswith("PLAY"):
                task = line.rstrip(" *\n")
            continue
        if re.match(r"(fatal|failed): \[", line):
            if block:
                yield task, block
            block = [line]
        elif block is not None:
            if line.strip() == "...ignoring":
                block = None
            else:
                block.append(line)
    if block:
        yield task, block


def failed_run(lines):
    """The lines of the last ansible-playbook run whose PLAY RECAP counts a failure, and its failed hosts.

    Failures caught by a rescue block (the scenarios' expected-failure cases) count as rescued, not
    failed, so the recap tells them apart from the real one.
    """
    recap_at = [index for index, line in enumerate(lines) if line.startswith("PLAY RECAP")]
    for position in reversed(range(len(recap_at))):
        start = recap_at[position - 1] if position else 0
        hosts = set()
        for line in lines[recap_at[position] + 1:]:
            match = re.match(r"(\S+)\s+:\s+ok=.*", line)
            if not match:
                break
            if re.search(r"\b(failed|unreachable)=[1-9]", line):
                hosts.add(match.group(1))
        if hosts:
            return lines[start:recap_at[position]], hosts
    return lines, None


def excerpt(lines, max_lines):
    for index, line in enumerate(lines):
        if "short test summary info" in line:
            failed = []
            for item in lines[index + 1:]:
                if item.startswith("="):   # pytest's closing "=== 1 failed, 12 passed in 9.1s ===" line
                    break
                if item.startswith(("FAILED ", "ERROR ")):
                    failed.append(item)
            if failed:
                # The assertion lines ("E   ...") of the failures, as the summary line may not say why.
                reasons = [item for item in lines[:index] if item.startswith("E ")]
                return (failed + reasons)[:max_lines]
    run, hosts = failed_run(lines)
    failures = [
        (task, block) for task, block in ansible_failures(run)
        if hosts is None or re.match(r"(?:fatal|failed): \[(.*?)\]", block[0]).group(1) in hosts
    ]
    if failures:
        task, block = failures[-1]
        return ([task] + [item for item in block if item.strip()])[:max_lines]
    molecule_errors = [item for item in lines if item.startswith(("CRITICAL", "ERROR"))]
    return molecule_errors[-max_lines:] or ["(no failure line found; read the whole log)"]


def main():
    path = sys.argv[1]
    max_lines = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    for line in excerpt(lines, max_lines):
        print(line if len(line) <= WIDTH else line[:WIDTH] + " ...")


if __name__ == "__main__":
    main()
