/**
 * The application menu. In a packaged build it has no Reload (Ctrl+R would
 * throw away a half-typed form in the middle of a ceremony) and no DevTools
 * (which read every share word on screen and can call window.custos); without
 * an explicit menu Electron's default one offers both. No Close item either:
 * Ctrl+W is too easy to hit; the window's close button goes through the
 * leave guard.
 */
import type { MenuItemConstructorOptions } from "electron";

/** The menu template for this build. */
export function menuTemplate(o: { isPackaged: boolean; platform: NodeJS.Platform }): MenuItemConstructorOptions[] {
  const mac = o.platform === "darwin";
  return [
    ...(mac ? [{ role: "appMenu" as const }] : []),
    { label: "&File", submenu: [{ role: "quit", label: "Quit Custos" }] },
    {
      label: "&Edit",
      submenu: [{ role: "undo" }, { role: "redo" }, { type: "separator" }, { role: "cut" }, { role: "copy" }, { role: "paste" }, { role: "selectAll" }],
    },
    {
      label: "&View",
      submenu: [
        ...(o.isPackaged ? [] : ([{ role: "reload" }, { role: "forceReload" }, { role: "toggleDevTools" }, { type: "separator" }] as MenuItemConstructorOptions[])),
        { role: "resetZoom" },
        { role: "zoomIn" },
        { role: "zoomOut" },
        { type: "separator" },
        { role: "togglefullscreen" },
      ],
    },
    { label: "&Window", submenu: [{ role: "minimize" }] },
    { label: "&Help", submenu: [{ role: "about", label: "About Custos" }] },
  ];
}

/** Every role in a template, submenus included (for the tests). */
export function menuRoles(t: MenuItemConstructorOptions[]): string[] {
  return t.flatMap((i) => [...(i.role ? [String(i.role)] : []), ...(Array.isArray(i.submenu) ? menuRoles(i.submenu) : [])]);
}
