# package.cmake — what the Debian package holds besides the programs, and CPack's DEB setup
# (cpack -G DEB). Included from the top-level CMakeLists.txt; tested by
# tests/integration/package.sh (lintian, install/upgrade/remove/purge).
#
#  - man pages and the documentation (README, CONFIGURATION, OPERATIONS, RELIABILITY,
#    ARCHITECTURE) gzipped (gzip -9n: no name or timestamp, reproducible), as Debian's
#    dh_installman/dh_compress would; copyright (machine-readable) and changelog.Debian.gz
#    under /usr/share/doc/recd
#  - /etc/recd/recd.conf a conffile; maintainer scripts packaging/debian/{postinst,prerm,postrm}
#    (static system user recd, config 0640 root:recd, dh_installsystemd's snippets with
#    --no-enable --no-start and restart after upgrade)
#  - binaries stripped, their debug symbols in recd-dbgsym_VERSION_ARCH.ddeb (by build id)
find_program(RECD_GZIP gzip REQUIRED)
set(RECD_PKG_DIR ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${RECD_PKG_DIR}/man ${RECD_PKG_DIR}/doc)
set(RECD_DEB_RELEASE 1)
set(RECD_DEB_VERSION "${PROJECT_VERSION}-${RECD_DEB_RELEASE}")

# recd_gzip(SRC NAME): ${RECD_PKG_DIR}/NAME.gz from SRC at build time
set(RECD_GZ_FILES "")
function(recd_gzip src name)
  set(out ${RECD_PKG_DIR}/${name}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND sh -c "${RECD_GZIP} -9n -c \"$0\" > \"$1\"" ${src} ${out}
    DEPENDS ${src} COMMENT "gzip ${name}" VERBATIM)
  set(RECD_GZ_FILES ${RECD_GZ_FILES} ${out} PARENT_SCOPE)
endfunction()

foreach(m recd.8 recd.conf.5 recctl.1)
  recd_gzip(${CMAKE_SOURCE_DIR}/docs/man/${m} man/${m})
endforeach()
set(RECD_DOCS ${CMAKE_SOURCE_DIR}/README.md)
foreach(d CONFIGURATION OPERATIONS RELIABILITY ARCHITECTURE)
  list(APPEND RECD_DOCS ${CMAKE_SOURCE_DIR}/docs/${d}.md)
endforeach()
foreach(d IN LISTS RECD_DOCS)
  get_filename_component(n ${d} NAME)
  recd_gzip(${d} doc/${n})
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/changelog.Debian.in
               ${RECD_PKG_DIR}/changelog.Debian @ONLY)
recd_gzip(${RECD_PKG_DIR}/changelog.Debian doc/changelog.Debian)
add_custom_target(recd_package_files ALL DEPENDS ${RECD_GZ_FILES})

install(FILES ${RECD_PKG_DIR}/man/recd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${RECD_PKG_DIR}/man/recd.conf.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${RECD_PKG_DIR}/man/recctl.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
foreach(d IN LISTS RECD_DOCS)
  get_filename_component(n ${d} NAME)
  install(FILES ${RECD_PKG_DIR}/doc/${n}.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
endforeach()
install(FILES ${RECD_PKG_DIR}/doc/changelog.Debian.gz
              ${CMAKE_SOURCE_DIR}/packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# the config is shipped 0640 on purpose (it may hold a SASL password; postinst makes it
# root:recd): lintian's non-standard-file-perm warning is overridden, with that reason
install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME recd)

# conffiles: the config's absolute place (/etc/recd/recd.conf for the prefix /usr)
file(WRITE ${RECD_PKG_DIR}/conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/recd/recd.conf\n")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "recd")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "recd maintainers <maintainers@users.noreply.b-seed-82031da9.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "streaming recommender daemon (Kafka, RocksDB, OpenBLAS)")
# the extended description (the synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY); lines < 80
set(CPACK_PACKAGE_DESCRIPTION "recd consumes click, purchase and catalogue events from Kafka,
keeps per-user sessions, profiles and item statistics in RocksDB, and
publishes a ranked list of recommendations per user to a Kafka topic
(Avro). It runs as a hardened systemd service (recd.service, system user
recd) with exactly-once state and offsets, a dead-letter topic for bad
records, Prometheus metrics and reload on SIGHUP. recctl creates topics,
replays data sets, inspects and checkpoints the state, forgets users.
.
The service is not started on installation: set the brokers and topics
in /etc/recd/recd.conf, check it with recd -t, then run
systemctl enable --now recd.")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${RECD_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)       # dependencies = Debian's runtime libraries
# + what the maintainer scripts use (adduser; deb-systemd-helper/-invoke)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.52)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm
    ${RECD_PKG_DIR}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)       # strips the binaries; symbols in recd-dbgsym
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/fix_dbgsym.cmake)   # its md5sums, doc link
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
include(CPack)
