# fix_dbgsym.cmake — CPACK_POST_BUILD_SCRIPTS of the DEB package (cmake/package.cmake): CPack
# (3.25) writes the dbgsym package's md5sums with absolute paths of its staging directory and
# gives it no /usr/share/doc entry. Rebuild each .ddeb with dpkg-deb: md5sums relative to the
# root (as dpkg and debsums expect), the .debug files 0644, and
# /usr/share/doc/recd-dbgsym -> recd (as debhelper's dbgsym packages; the .ddeb depends on
# recd of the same version, whose copyright and changelog are there).
foreach(pkg IN LISTS CPACK_PACKAGE_FILES)
  if(NOT pkg MATCHES "\\.ddeb$")
    continue()
  endif()
  get_filename_component(dir "${pkg}" DIRECTORY)
  set(tree "${dir}/_recd_dbgsym_tree")
  file(REMOVE_RECURSE "${tree}")
  execute_process(COMMAND dpkg-deb -R "${pkg}" "${tree}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fix_dbgsym: dpkg-deb -R ${pkg} failed")
  endif()
  execute_process(COMMAND dpkg-deb -f "${pkg}" Package OUTPUT_VARIABLE name
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE "-dbgsym$" "" main "${name}")
  file(MAKE_DIRECTORY "${tree}/usr/share/doc")
  file(CREATE_LINK "${main}" "${tree}/usr/share/doc/${name}" SYMBOLIC)
  file(GLOB_RECURSE debug_files RELATIVE "${tree}" "${tree}/usr/lib/debug/*")
  set(md5 "")
  foreach(f IN LISTS debug_files)
    file(CHMOD "${tree}/${f}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    file(MD5 "${tree}/${f}" sum)
    string(APPEND md5 "${sum}  ${f}\n")
  endforeach()
  file(WRITE "${tree}/DEBIAN/md5sums" "${md5}")
  file(CHMOD "${tree}/DEBIAN/md5sums" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  execute_process(COMMAND dpkg-deb --root-owner-group -Zxz -b "${tree}" "${pkg}"
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fix_dbgsym: dpkg-deb -b ${pkg} failed")
  endif()
  file(REMOVE_RECURSE "${tree}")
endforeach()
