// Modal questions as <dialog> elements (see index.html): keyboard usable (Tab between the
// buttons, Escape cancels), labelled by their heading and text. Names shown in them are text.

// Opens `dialog` and resolves to the value of the button that closed it ('cancel' on Escape).
function ask(dialog) {
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue || 'cancel'), { once: true });
    dialog.showModal();
  });
}

/** Asks whether to keep a device's history when deleting it: 'keep', 'delete' or 'cancel'. */
export function askDeleteDevice(device) {
  const dialog = document.querySelector('#delete-dialog');
  dialog.querySelector('#delete-dialog-device').textContent = `${device.name} (${device.address})`;
  return ask(dialog);
}

/** Asks to confirm something that cannot be undone: true when confirmed. */
export async function askConfirm({ title, text, confirm }) {
  const dialog = document.querySelector('#confirm-dialog');
  dialog.querySelector('#confirm-dialog-title').textContent = title;
  dialog.querySelector('#confirm-dialog-text').textContent = text;
  dialog.querySelector('button[value="ok"]').textContent = confirm;
  return (await ask(dialog)) === 'ok';
}
