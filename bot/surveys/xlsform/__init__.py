"""XLSForms: reading a workbook through pyxform, the form model and ODK expressions."""
