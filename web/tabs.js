// Tabs as WAI-ARIA describes them: a role="tablist" of role="tab" buttons, each naming its
// role="tabpanel" in aria-controls. Click or arrow keys (Left, Right, Home, End) choose a
// tab; only the chosen tab is in the Tab order and only its panel is shown.

/** Makes the tabs of `tablist` work; `onChange(name)` hears the newly chosen tab's data-tab. */
export function attachTabs(tablist, onChange) {
  const tabs = [...tablist.querySelectorAll('[role="tab"]')];
  let current = tabs.find((t) => t.getAttribute('aria-selected') === 'true') ?? tabs[0];
  const choose = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    if (tab !== current) {
      current = tab;
      onChange(tab.dataset.tab);
    }
  };
  tablist.addEventListener('click', (ev) => {
    const tab = ev.target.closest('[role="tab"]');
    if (tab && tabs.includes(tab)) choose(tab, false);
  });
  tablist.addEventListener('keydown', (ev) => {
    const i = tabs.indexOf(ev.target);
    if (i < 0) return;
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    choose(tabs[(next + tabs.length) % tabs.length], true);
  });
  choose(current, false);
}
