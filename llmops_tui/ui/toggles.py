"""Checkboxes whose state reads without colour: Textual draws ``▐X▌`` for on *and* off
(only the colour differs), so a plain capture, a monochrome terminal or a colour-blind
eye saw every box ticked. Here an unticked box is ``▐ ▌``."""

from __future__ import annotations

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.widgets import Checkbox, SelectionList
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.selection_list import SelectionType

OFF_INNER = " "


class MarkedCheckbox(Checkbox):
    @property
    def _button(self) -> Content:
        if self.value:
            return super()._button
        # As Textual builds it (ToggleButton._button), with a blank inside.
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            (OFF_INNER, button_style),
            (self.BUTTON_RIGHT, side_style),
        )


class MarkedSelectionList(SelectionList[SelectionType]):
    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        for k, seg in enumerate(segments[:3]):
            if seg.text != ToggleButton.BUTTON_INNER or seg.style is None:
                continue
            index = seg.style.meta.get("option")
            if index is None:
                break
            try:
                option = self.get_option_at_index(index)
            except Exception:
                break
            if option.value not in self.selected:
                segments[k] = Segment(OFF_INNER, seg.style)
            return Strip(segments, strip.cell_length)
        return strip
