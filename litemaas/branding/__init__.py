"""The portal's branding: title, subtitle, footer text and logos (checked, SVG sanitised), served publicly."""
