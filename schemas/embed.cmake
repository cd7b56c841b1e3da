# embed.cmake — writes OUT: `const char *const recd_schema_<name>` = contents of DIR/<name>.avsc
string(REPLACE "," ";" NAMES "${NAMES}")
set(text "/* generated from the schemas/ directory by schemas/embed.cmake — do not edit */\n")
foreach(n ${NAMES})
  file(READ ${DIR}/${n}.avsc content HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
  string(APPEND text "const char recd_schema_${n}[] = {${bytes}0x00};\n")
endforeach()
file(WRITE ${OUT} "${text}")
